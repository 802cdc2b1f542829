#!/usr/bin/env bash
# Runs a command against a throwaway PostgreSQL cluster, then removes it.
#
#   tests/pg/with-postgres.sh [--fsync] [--] COMMAND [ARG...]
#
# The cluster lives in a temporary folder: its data, its unix socket and its
# log. It listens on that socket and on a free loopback port, trusts local
# connections, and runs with fsync off unless --fsync is given (benchmarks
# want real commits; tests want speed). The command sees:
#   TESSERA_TEST_POSTGRES  postgres:// URL of an empty database on the cluster
#   TESSERA_TEST_PG_CTL    pg_ctl for this cluster, run as its owner, e.g.
#                          "$TESSERA_TEST_PG_CTL" stop -m fast / start
# The cluster is stopped and its folder removed however the command ends.
# A machine without PostgreSQL gets Debian's `postgresql` package first.
set -euo pipefail

fsync=off
while (($#)); do
    case $1 in
    --fsync) fsync=on; shift ;;
    --) shift; break ;;
    *) break ;;
    esac
done
if (($# == 0)); then
    echo "usage: $0 [--fsync] [--] COMMAND [ARG...]" >&2
    exit 2
fi

pg_bin() {
    local dirs
    dirs=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V) || true
    [[ -n $dirs && -x ${dirs##*$'\n'}/initdb ]] && echo "${dirs##*$'\n'}"
}

bin=$(pg_bin) || true
if [[ -z $bin ]]; then
    if ((EUID != 0)); then
        echo "$0: PostgreSQL is not installed: install Debian's postgresql as root" \
            "(apt-get install postgresql), then run again" >&2
        exit 1
    fi
    echo "$0: installing PostgreSQL from Debian's packages" >&2
    # Only the binaries are wanted: no cluster of the package's own.
    mkdir -p /etc/postgresql-common
    [[ -e /etc/postgresql-common/createcluster.conf ]] ||
        echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql
    bin=$(pg_bin) || true
    [[ -n $bin ]] || { echo "$0: initdb still missing after install" >&2; exit 1; }
fi

# initdb and postgres refuse to run as root: as root, the cluster belongs
# to an unprivileged user of its own.
as_owner=()
if ((EUID == 0)); then
    owner=tessera-pg
    id -u "$owner" >/dev/null 2>&1 ||
        useradd --system --no-create-home --home-dir /nonexistent \
            --shell /usr/sbin/nologin "$owner"
    as_owner=(runuser -u "$owner" --)
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/tessera-pg.XXXXXX")
cleanup() {
    local status=$?
    if [[ -f $dir/data/postmaster.pid ]]; then
        "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
((EUID == 0)) && chown "$owner" "$dir"
chmod 700 "$dir"

"${as_owner[@]}" "$bin/initdb" -D "$dir/data" -A trust -U tessera -E UTF8 --no-locale \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; exit 1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

started=
for _ in $(seq 20); do
    port=$((20000 + RANDOM % 40000))
    port_free "$port" || continue
    cat >"$dir/data/postgresql.auto.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
fsync = $fsync
full_page_writes = $fsync
max_connections = 200
CONF
    ((EUID == 0)) && chown "$owner" "$dir/data/postgresql.auto.conf"
    if "${as_owner[@]}" "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        >/dev/null; then
        started=1
        break
    fi
done
if [[ -z $started ]]; then
    echo "$0: the server did not start" >&2
    cat "$dir/server.log" >&2 || true
    exit 1
fi

"$bin/createdb" -h 127.0.0.1 -p "$port" -U tessera tessera_test

cat >"$dir/pg_ctl" <<CTL
#!/bin/sh
exec ${as_owner[*]} "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w "\$@"
CTL
chmod 755 "$dir/pg_ctl"

export TESSERA_TEST_POSTGRES="postgres://tessera@127.0.0.1:$port/tessera_test"
export TESSERA_TEST_PG_CTL="$dir/pg_ctl"
echo "with-postgres: PostgreSQL $("$bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (fsync=$fsync)" >&2

"$@"
