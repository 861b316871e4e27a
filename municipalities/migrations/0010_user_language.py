from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("municipalities", "0009_nodes_shared_cache")]

    operations = [
        migrations.AddField(
            model_name="user",
            name="language",
            field=models.CharField(
                blank=True,
                choices=[("nb", "Norwegian Bokmål"), ("nn", "Norwegian Nynorsk"), ("en", "English")],
                default="",
                max_length=8,
                verbose_name="language",
            ),
        ),
    ]
