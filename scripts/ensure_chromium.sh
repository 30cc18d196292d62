#!/usr/bin/env bash
# Make Debian's Chromium available for the explorer's browser test (tests/test_explorer_browser.py,
# driven by Playwright with executable_path=/usr/bin/chromium; Playwright's own browser download
# is never used). Installs the `chromium` package when running as root and it is missing.
set -uo pipefail
CHROMIUM=${CODEQ_CHROMIUM:-/usr/bin/chromium}
if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure_chromium: $CHROMIUM missing and we are not root; the browser test will fail (apt-get install chromium)" >&2
  exit 1
fi
apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
if [ -x "$CHROMIUM" ]; then exit 0; fi
echo "ensure_chromium: installing Debian's chromium did not give $CHROMIUM" >&2
exit 1
