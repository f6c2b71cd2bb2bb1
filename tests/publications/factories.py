import factory

from publications.models import NewsRelease, Release


class ReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Release

    slug = factory.Sequence(lambda n: f"rilis-{n}")
    title_id = factory.Sequence(lambda n: f"Rilis {n}")
    title_en = factory.Sequence(lambda n: f"Release {n}")


class NewsReleaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = NewsRelease

    slug = factory.Sequence(lambda n: f"siaran-pers-{n}")
    title = factory.Sequence(lambda n: f"Siaran pers {n}")
    lead = "Ringkasan."
    body = "Isi **siaran pers**."
