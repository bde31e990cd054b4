from django.urls import path

from . import views

app_name = "adesioni"

urlpatterns = [
    path("", views.landing, name="landing"),
]
