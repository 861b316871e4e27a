"""URL converters."""


class DatabaseId:
    """A primary key that fits a 64-bit column: a longer number is simply not found (404),
    where ``int`` would pass it to the database and fail with a 500."""

    regex = "[0-9]{1,18}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)
