"""The request id (X-Request-ID) of the request that wrote each repair step."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('repair', '0003_application_accepted_late'),
    ]

    operations = [
        migrations.AddField(
            model_name='step',
            name='request_id',
            field=models.CharField(blank=True, db_default='', default='', editable=False, help_text='The X-Request-ID of the request that wrote this row; empty for jobs and commands.', max_length=64, verbose_name='request id'),
        ),
    ]
