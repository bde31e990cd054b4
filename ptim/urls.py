from django.urls import path

from . import views

app_name = "ptim"

urlpatterns = [
    path("", views.landing, name="landing"),
]
