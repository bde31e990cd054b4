from django.urls import path

from . import views

app_name = "gare"

urlpatterns = [
    path("", views.landing, name="landing"),
]
