-- Prosody 0.12 (Debian's package) for the load comparison: see ../README.md.
-- Rendered into the run directory by prosody.sh (@RUN@ is that directory).
--
-- Kept comparable with tsjabberd.yml and ejabberd.yml: the same kind of modules, no traffic limits
-- (mod_limits is not loaded), TCP_NODELAY as ejabberd, in-band registration open, the same SCRAM iteration count as the
-- others (4096; Prosody's default of 10000 would make every login cost the client 2.5 times more).

data_path = "@RUN@/data"
certificates = "@RUN@"
log = { warn = "@RUN@/prosody.log" }

c2s_ports = { 5422 }
c2s_interfaces = { "127.0.0.1" }
network_backend = "epoll"
-- tcp_backlog: as ejabberd.yml's backlog (Prosody's default, 128, is enough for 100 logins in flight).
-- nagle = false sets TCP_NODELAY, as ejabberd does on every socket. With Prosody's default (Nagle on), a
-- second stanza to a client waits for the ACK of the first, which Linux delays by 40 ms: that caps
-- delivery at half of what Prosody can do and puts p99 at 40 ms (measured: 8,100 vs 16,000 msgs/s).
network_settings = { tcp_backlog = 1024; nagle = false }

modules_enabled = {
	"roster"; "saslauth"; "tls"; "disco"; "ping"; "version"; "register";
	"private"; "vcard"; "blocklist"; "lastactivity";
	-- "offline" is loaded by default
}
-- Clients only: no server-to-server port.
modules_disabled = { "s2s" }

authentication = "internal_hashed"
default_iteration_count = 4096
storage = "internal"

-- The load generator can run without TLS (--tls off): allow that, and registration on such streams.
c2s_require_encryption = false
allow_registration = true
-- Registrations from 127.0.0.1 and ::1 are never throttled (mod_register_limits' default allowlist).

VirtualHost "localhost"
	ssl = { certificate = "@RUN@/cert.pem"; key = "@RUN@/key.pem" }
