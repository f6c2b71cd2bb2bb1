"""The root of the read API, /api/v1/: what resources it has, where, and what each gives.

Each app lists its own resources beside its routes (``RESOURCES`` in ``stats.api.urls``
and ``publications.api.urls``); the root, which both apps' routes hang under, joins them.
"""

from __future__ import annotations

from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response

from publications.api.urls import RESOURCES as PUBLICATION_RESOURCES
from stats.api.base import PublicReadMixin
from stats.api.urls import RESOURCES as STATS_RESOURCES

RESOURCES = (*STATS_RESOURCES, *PUBLICATION_RESOURCES)


class ApiResourceSerializer(serializers.Serializer):
    api_description = "One resource of the API."

    name = serializers.CharField(help_text="Its name, also the last part of its URL.")
    url = serializers.URLField(help_text="Where it is.")
    description = serializers.CharField(help_text="What it gives, in one line.")


class ApiRootSerializer(serializers.Serializer):
    api_description = "The resources of the API and where its description is."

    resources = ApiResourceSerializer(many=True)
    schema = serializers.URLField(help_text="The OpenAPI description of the API.")
    docs = serializers.URLField(help_text="Interactive documentation.")


class ApiRootViewSet(PublicReadMixin, viewsets.GenericViewSet):
    serializer_class = ApiRootSerializer
    # For the schema: the root is always there (no 404).
    item_can_be_missing = False

    def get_queryset(self):
        return None

    @extend_schema(
        operation_id="root_retrieve",
        tags=["root"],
        summary="The API's resources",
        description="Every resource of the API with its URL and a one-line description, "
        "and links to the OpenAPI description and the interactive documentation.",
    )
    def retrieve(self, request, *args, **kwargs):
        cached = self.cached_response()
        if cached is not None:
            return cached

        def absolute(url_name: str) -> str:
            return request.build_absolute_uri(reverse(url_name))

        root = {
            "resources": [
                {"name": name, "url": absolute(url_name), "description": description}
                for name, url_name, description in RESOURCES
            ],
            "schema": absolute("api-schema"),
            "docs": absolute("api-docs"),
        }
        return Response(self.get_serializer(root).data)


api_root = ApiRootViewSet.as_view({"get": "retrieve"})
