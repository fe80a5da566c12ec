"""The operator console at ``/console`` (``CONSOLE=true``) and the offline Swagger UI at ``/docs``.

Static files live in ``static/`` inside the package (package data), so a pip-installed gateway
serves them with no Node.js and no CDN. ``static/vendor/`` holds the files of two npm packages,
copied from ``clients/typescript/node_modules`` by ``npm run vendor`` at the versions pinned in
its ``package-lock.json``; ``vendor/MANIFEST.json`` records them and a test compares the two.
"""
