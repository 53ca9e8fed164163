# Shared by the bench scripts: `. bench/lib.sh` from the repository's root.

# free_port: a TCP port nothing listens on now, for a server started after. Taken below the kernel's ephemeral range
# (ip_local_port_range): a port in it may become the local port of any outgoing connection between the pick and the
# server's bind (the same race the tests' FreePorts avoids).
free_port() {
  local low=32768 rest port
  read -r low rest </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
  [ "$low" -gt 11024 ] || low=30000
  while :; do
    port=$(( low - 10000 + RANDOM % 10000 ))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
}
