"""The request id (X-Request-ID) of the request that wrote each event and agency call.

Record events are append-only (a trigger refuses UPDATE and DELETE): the column is added with a
database default, which PostgreSQL records in the catalog without rewriting a row, so no
UPDATE runs and older events read as written outside a request (blank).
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('disclosure', '0009_reference_tables_analyzed'),
    ]

    operations = [
        migrations.AddField(
            model_name='agencycall',
            name='request_id',
            field=models.CharField(blank=True, db_default='', default='', editable=False, help_text='The X-Request-ID of the request that wrote this row; empty for jobs and commands.', max_length=64, verbose_name='request id'),
        ),
        migrations.AddField(
            model_name='recordevent',
            name='request_id',
            field=models.CharField(blank=True, db_default='', default='', editable=False, help_text='The X-Request-ID of the request that wrote this row; empty for jobs and commands.', max_length=64, verbose_name='request id'),
        ),
    ]
