"""The pages that cut across apps: the access log, the municipality pages, the health personnel
look-up, the error pages and the demo loader. Nothing imports web; it imports the apps."""
