"""Layout tags shared by the apps' pages."""

from django import template
from django.template.base import token_kwargs
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.tag("scrollable")
def do_scrollable(parser, token):
    """{% scrollable %}<table>…</table>{% endscrollable %}: a wide table scrolls sideways inside
    its own region, so the page itself never does (WCAG 1.4.10, reflow at 320 px). The region
    is focusable, so it scrolls from the keyboard, and named by the table's caption, or by
    ``labelledby`` (a heading's id) or ``label`` where the table has none."""
    bits = token.split_contents()[1:]
    options = token_kwargs(bits, parser)
    if bits or set(options) - {"labelledby", "label"}:
        raise template.TemplateSyntaxError("scrollable takes labelledby= or label= only")
    nodelist = parser.parse(("endscrollable",))
    parser.delete_first_token()
    return ScrollableNode(nodelist, options)


class ScrollableNode(template.Node):
    def __init__(self, nodelist, options):
        self.nodelist = nodelist
        self.options = options

    def render(self, context):
        inner = self.nodelist.render(context)
        options = {name: value.resolve(context) for name, value in self.options.items()}
        if options.get("labelledby"):
            name = format_html('aria-labelledby="{}"', options["labelledby"])
        elif options.get("label"):
            name = format_html('aria-label="{}"', options["label"])
        else:
            # The caption names the region: it gets an id unique on the page.
            request = context.get("request")
            number = getattr(request, "_scroll_regions", 0) + 1
            if request is not None:
                request._scroll_regions = number
            ident = f"table-caption-{number}"
            inner = inner.replace("<caption", f'<caption id="{ident}"', 1)
            name = format_html('aria-labelledby="{}"', ident)
        return format_html(
            '<div class="table-scroll" role="region" tabindex="0" {}>{}</div>',
            name,
            mark_safe(inner),  # noqa: S308 - the rendered template, escaped by its own tags
        )
