from rest_framework import serializers

from disclosure.models import CreditRecord, Entity, FormerName


class FormerNameSerializer(serializers.ModelSerializer):
    class Meta:
        model = FormerName
        fields = ["name", "changed_on"]


class EntitySerializer(serializers.ModelSerializer):
    identifier = serializers.CharField(
        source="public_identifier", help_text="The code, or a masked identity number."
    )
    former_names = serializers.SerializerMethodField()

    class Meta:
        model = Entity
        fields = [
            "code",
            "identifier",
            "name",
            "kind",
            "region",
            "registration_authority",
            "entity_type",
            "former_names",
        ]

    def get_former_names(self, entity) -> list[dict]:
        formers = self.context.get("former_names")
        if formers is None:
            formers = list(entity.former_names.all()) if len(entity.indexed_names) > 1 else []
        return FormerNameSerializer(formers, many=True).data


class SearchHitSerializer(serializers.Serializer):
    code = serializers.CharField(source="entity.code", allow_null=True)
    identifier = serializers.CharField(source="entity.public_identifier")
    name = serializers.CharField(source="entity.name")
    kind = serializers.CharField(source="entity.kind")
    region = serializers.CharField(source="entity.region")
    match = serializers.ChoiceField(choices=["exact", "prefix", "substring", "former"])
    former_name = serializers.CharField()


class RecordSerializer(serializers.ModelSerializer):
    entity = serializers.CharField(source="entity.public_identifier")
    catalog_item = serializers.CharField(source="catalog_item.code")
    catalog_item_name = serializers.CharField(source="catalog_item.name")
    category = serializers.CharField(source="catalog_item.category")
    department = serializers.CharField(source="department.code")
    department_name = serializers.CharField(source="department.name")

    class Meta:
        model = CreditRecord
        fields = [
            "id", "entity", "catalog_item", "catalog_item_name", "category", "department", "department_name",
            "decision_number", "decision_date", "facts", "legal_basis_cited", "outcome", "penalty_amount",
            "severity", "valid_from", "valid_until", "disclosure_start", "disclosure_end", "earliest_repair_on",
        ]  # fmt: skip
