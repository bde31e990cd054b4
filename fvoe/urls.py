from django.urls import path

from . import views

app_name = "fvoe"

urlpatterns = [
    path("", views.landing, name="landing"),
]
