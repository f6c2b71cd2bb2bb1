import factory

from stats.models import CodeList, Indicator, Topic


class TopicFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Topic
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"topik-{n}")
    name_id = factory.Sequence(lambda n: f"Topik {n}")
    name_en = factory.Sequence(lambda n: f"Topic {n}")


class IndicatorFactory(factory.django.DjangoModelFactory):
    """An annual count with the region, segment and program dimensions (needs ``catalogue``)."""

    class Meta:
        model = Indicator
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"TEST_INDICATOR_{n}")
    name_id = factory.Sequence(lambda n: f"Indikator {n}")
    name_en = factory.Sequence(lambda n: f"Indicator {n}")
    unit = "persons"
    measure_kind = "stock"
    frequencies = "A"
    topic = factory.SubFactory(TopicFactory)

    @factory.post_generation
    def dimensions(self, create, extracted, **kwargs):
        if create:
            self.dimensions.set(
                extracted or CodeList.objects.filter(id__in=["region", "segment", "program"])
            )
