"""View helpers every app's pages share: a page of a list, a list's filters for its page links,
and a service's validation errors put back onto the form. Nothing here knows an app."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator


def page_of(request, items, *, count=None, param="side"):
    """One page of ``items``; ``count``: their number, when the caller has counted them
    already (with other figures, in one query), so the paginator does not count again."""
    paginator = Paginator(items, settings.PAGE_SIZE)
    if count is not None:
        paginator.count = count
    # get_page parses the number itself: anything but a page number (text, NUL, 5,000 digits)
    # is page 1, a number past the end the last page; it never reaches the database.
    return paginator.get_page(request.GET.get(param))


def form_errors_from(error: ValidationError, form):
    if hasattr(error, "error_dict"):
        for field, errors in error.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


def list_query(request, page_param="side") -> str:
    """The list's GET filters (and other lists' pages), for its page links."""
    query = request.GET.copy()
    query.pop(page_param, None)
    return query.urlencode()
