from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("orders", "0011_next_deadline_order_deadline")]

    operations = [
        migrations.AddField(
            model_name="notification",
            name="step",
            field=models.CharField(blank=True, max_length=40, verbose_name="step"),
        ),
    ]
