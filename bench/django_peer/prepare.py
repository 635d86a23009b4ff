"""Add Django's own tables and a superuser to the bench database: `python -m bench.django_peer.prepare`.

Reads DATABASE_URL (the bench database) and PEER_PASSWORD (the superuser's password).
"""

import os

import django
from django.core.management import call_command


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.django_peer.settings")
    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model

    call_command("migrate", verbosity=0, interactive=False)
    users = get_user_model()
    users.objects.filter(username=settings.PEER_ADMIN_USERNAME).delete()
    users.objects.create_superuser(
        settings.PEER_ADMIN_USERNAME, "admin@bench.example.org", os.environ["PEER_PASSWORD"]
    )


if __name__ == "__main__":
    main()
