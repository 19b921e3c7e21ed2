#!/usr/bin/env bash
# Vendor the Europa Component Library (EU preset) into api/views/static/ecl/, from the npm registry.
# Run once when the pinned version changes; the copied files are committed, so the server and the wheel
# need no npm at run time. Copies the compiled CSS, the EU emblem logos we use, and the licence (EUPL).
set -euo pipefail
VERSION=5.3.1
HERE="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$HERE/api/views/static/ecl"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
npm pack --silent "@ecl/preset-eu@$VERSION" >/dev/null
tar xzf "ecl-preset-eu-$VERSION.tgz"
P=package/dist
rm -rf "$DEST"
mkdir -p "$DEST/logo"
cp "$P/styles/ecl-eu.css" "$P/styles/optional/ecl-reset.css" "$DEST/"
# the standard EU emblem with "European Union" in English: positive (header) and negative (dark footer)
cp "$P/images/logo/standard-version/positive/logo-eu--en.svg" "$DEST/logo/logo-eu--en.svg"
cp "$P/images/logo/standard-version/negative/logo-eu--en.svg" "$DEST/logo/logo-eu-negative--en.svg"
cp package/LICENSE "$DEST/LICENSE"
# the CSS ends with a source-map comment naming a file we do not ship
sed -i 's#/\*\# sourceMappingURL=[^*]*\*/##' "$DEST"/*.css
cat > "$DEST/README.md" <<TEXT
Europa Component Library $VERSION, EU preset (\`@ecl/preset-eu\` from the npm registry, EUPL-1.2,
© European Union / European Commission; licence text in LICENSE as shipped in the package), copied by
\`scripts/vendor-ecl.sh\`: \`ecl-eu.css\` (components) and \`ecl-reset.css\`
from \`dist/styles/\`, and the English EU emblem logos from
\`dist/images/logo/standard-version/\`. ECL's JavaScript is not used: pages work without it.
Bundled so that no page loads anything from a CDN; ECL EU uses Arial, so no web fonts are loaded.
TEXT
echo "ECL $VERSION vendored into $DEST"
