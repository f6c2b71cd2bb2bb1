"""The three roles of the publishing staff, as groups with their permissions.

Data entry edits draft releases and their observations and submits them; a reviewer
approves (never their own submission), schedules, publishes and cancels; an editor
writes and publishes news releases. The services check these permissions.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Entri data": [
        ("publications", "add_release"),
        ("publications", "change_release"),
        ("publications", "view_release"),
        ("publications", "submit_release"),
        ("publications", "view_newsrelease"),
        ("publications", "view_auditentry"),
        ("stats", "add_observation"),
        ("stats", "change_observation"),
        ("stats", "view_observation"),
        ("stats", "add_series"),
        ("stats", "view_series"),
        ("stats", "view_indicator"),
        ("stats", "view_codelist"),
        ("stats", "view_code"),
        ("stats", "view_topic"),
        ("stats", "view_target"),
    ],
    "Peninjau": [
        ("publications", "view_release"),
        ("publications", "review_release"),
        ("publications", "view_newsrelease"),
        ("publications", "view_auditentry"),
        ("stats", "view_observation"),
        ("stats", "view_series"),
        ("stats", "view_indicator"),
        ("stats", "view_codelist"),
        ("stats", "view_code"),
        ("stats", "view_topic"),
        ("stats", "view_target"),
    ],
    "Editor": [
        ("publications", "add_newsrelease"),
        ("publications", "change_newsrelease"),
        ("publications", "view_newsrelease"),
        ("publications", "publish_newsrelease"),
        ("publications", "view_release"),
        ("publications", "view_auditentry"),
        ("stats", "view_indicator"),
        ("stats", "view_observation"),
        ("stats", "view_series"),
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran (post_migrate); the
    # groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, verbosity=0, apps=apps)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = []
        for app_label, codename in codes:
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is None:
                raise RuntimeError(f"permission {app_label}.{codename} does not exist")
            permissions.append(permission)
        group.permissions.add(*permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("publications", "0003_release_review_audit"),
        ("stats", "0002_observation_guard_trigger"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
