from django.urls import path

from ledgerflow.health import views

urlpatterns = [
    path("health/live", views.live, name="health-live"),
    path("health/ready", views.ReadinessView.as_view(), name="health-ready"),
    path("metrics", views.metrics_view, name="metrics"),
]
