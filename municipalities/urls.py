from django.urls import path

from . import invitation_views, views

app_name = "municipalities"

urlpatterns = [
    path("myndigheter/<id:pk>/", views.authority_detail, name="authority_detail"),
    path("myndigheter/<id:pk>/apne-konto/", views.unlock_account, name="unlock_account"),
    path("myndigheter/<id:pk>/utnevn/", views.appoint_to_authority, name="appoint_to_authority"),
    path("kommuner/<municipality:number>/ledere/", views.municipality_leaders, name="municipality_leaders"),
    path("kommuner/<municipality:number>/ledere/utnevn/", views.appoint_leader, name="appoint_leader"),
    path("invitasjon/<invitation:token>/", invitation_views.open_invitation, name="invitation"),
    # The page the link redirects to: the token is kept out of history and logs.
    path("invitasjon/", invitation_views.invitation_page, name="invitation_page"),
    *[
        path(
            f"invitasjoner/<id:pk>/{segment}/",
            views.invitation_action,
            {"action": action},
            name=f"{action}_invitation",
        )
        for segment, action in [("send-igjen", "resend"), ("trekk-tilbake", "revoke")]
    ],
    path("utnevnelser/<id:pk>/avslutt/", views.end_appointment, name="end_appointment"),
]
