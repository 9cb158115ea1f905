#!/usr/bin/env bash
# Database restart under load (issue #3): serves with the private cluster, keeps wrk on an agent's
# /health, restarts PostgreSQL (pg.sh stop + start), and reports how long /ready stayed 503 after
# the database was back, whether any request failed or hung, and whether the process survived.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

[[ -x build/mercato ]] || bash scripts/build.sh
bash scripts/pg.sh start >/dev/null
url="$(bash scripts/pg.sh url)"
work="$(mktemp -d)"
server=""
cleanup() {
  [[ -n "$server" ]] && kill -TERM "$server" 2>/dev/null && wait "$server" 2>/dev/null || true
  bash scripts/pg.sh start >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
cat > "$work/c.toml" <<T
[gateway]
port = 18080
legacy_port_base = 18000
[database]
url = "$url"
[admin]
socket_path = "$work/admin.sock"
[log]
level = "warn"
T
build/mercato serve --config "$work/c.toml" 2>"$work/server.log" &
server=$!
for _ in $(seq 200); do
  curl -fs -o /dev/null http://127.0.0.1:18080/ready && break
  sleep 0.05
done
curl -fs -o /dev/null http://127.0.0.1:18080/ready || { echo "server not ready"; exit 1; }

ms() { date +%s%3N; }
wrk -t1 -c16 -d12s --timeout 2s http://127.0.0.1:18001/health >"$work/wrk.txt" 2>&1 &
wrk_pid=$!
sleep 2
bash scripts/pg.sh stop >/dev/null
down_seen=0
for _ in $(seq 300); do  # /ready must notice the outage (bounded: 3 s)
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://127.0.0.1:18080/ready)
  [[ "$code" == 503 ]] && { down_seen=1; break; }
  sleep 0.01
done
sleep 1
bash scripts/pg.sh start >/dev/null
back=$(ms)
recovered_ms=-1
for _ in $(seq 1000); do  # bounded: about 10 s
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 http://127.0.0.1:18080/ready)
  if [[ "$code" == 200 ]]; then recovered_ms=$(( $(ms) - back )); break; fi
  sleep 0.01
done
wait "$wrk_pid" || true
alive=no; kill -0 "$server" 2>/dev/null && alive=yes
non2xx=$(sed -n 's/.*Non-2xx or 3xx responses: *\([0-9]*\).*/\1/p' "$work/wrk.txt"); non2xx=${non2xx:-0}
errors=$(sed -n 's/.*Socket errors: \(.*\)/\1/p' "$work/wrk.txt"); errors=${errors:-none}
rps=$(sed -n 's/Requests\/sec: *//p' "$work/wrk.txt")
echo "db_restart ready_went_503=$down_seen"
echo "db_restart ready_200_after_db_back_ms=$recovered_ms (target <= 2000)"
echo "db_restart health_load_req_per_s=$rps non2xx=$non2xx socket_errors=$errors"
echo "db_restart server_alive=$alive same_pid=$server"
