"""The real nginx in front of maitred instances, for the deployment tests.

Nginx renders deploy/nginx/maitred.conf for the test. Its upstream lists the
given maitred ports and nginx listens on a free port of 127.0.0.1. The menu
cache and every temporary file live under a fresh prefix folder, and the
chat route's proxy_read_timeout may be lowered. Everything else is the
shipped file, unchanged. nginx runs in the foreground as the current user,
with one worker process so that its round robin over the instances is
predictable.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time

from harness import ARTIFACTS, TOP, free_port

NGINX = "/usr/sbin/nginx"
SHIPPED_CONF = os.path.join(TOP, "deploy", "nginx", "maitred.conf")

MAIN_CONF = """\
worker_processes 1;
daemon off;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
events {{
    worker_connections 1024;
}}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    include {prefix}/maitred.conf;
}}
"""


def replace_exactly(pattern, replacement, text, count, description):
    """Applies a regex substitution and checks it matched count times, so a
    change to the shipped file that the test no longer fits fails loudly."""
    result, n = re.subn(pattern, replacement, text, flags=re.M)
    if n != count:
        raise AssertionError(f"deploy/nginx/maitred.conf: expected {count} {description} line(s), found {n}; "
                             f"update tests/integration/deploy_nginx.py with the file")
    return result


def render_site(prefix, upstream_ports=None, listen_port=None, chat_read_timeout=None):
    """Returns deploy/nginx/maitred.conf with the test's ports, paths and timeout.
    None keeps the shipped value (the cache folder always moves under prefix)."""
    with open(SHIPPED_CONF) as f:
        text = f.read()

    text = replace_exactly(r"^proxy_cache_path /var/cache/nginx/maitred ",
                           f"proxy_cache_path {prefix}/cache ", text, 1, "proxy_cache_path")
    if upstream_ports is not None:
        def servers(match):
            return "\n".join(f"{match.group(1)}server 127.0.0.1:{port} {match.group(2)};"
                             for port in upstream_ports)
        text = replace_exactly(r"^(\s*)server 127\.0\.0\.1:8000 (.*);$", servers, text, 1, "upstream server")
    if listen_port is not None:
        text = replace_exactly(r"^(\s*)listen 80;$", rf"\g<1>listen 127.0.0.1:{listen_port};", text, 1,
                               "IPv4 listen")
        text = replace_exactly(r"^\s*listen \[::\]:80;\n", "", text, 1, "IPv6 listen")
    if chat_read_timeout is not None:
        text = replace_exactly(r"(location = /v1/chat \{[^}]*?proxy_read_timeout )\d+s;",
                               rf"\g<1>{chat_read_timeout}s;", text, 1, "chat proxy_read_timeout")
    return text


def write_config(prefix, site_text):
    """Writes the main configuration and the site under prefix; returns the
    main configuration's path."""
    with open(os.path.join(prefix, "maitred.conf"), "w") as f:
        f.write(site_text)
    main = os.path.join(prefix, "nginx.conf")
    with open(main, "w") as f:
        f.write(MAIN_CONF.format(prefix=prefix))
    return main


def make_prefix():
    prefix = tempfile.mkdtemp(prefix="maitred-nginx-")
    # Started as root, nginx runs its workers as the user nobody, who must reach the temp folders.
    os.chmod(prefix, 0o755)
    return prefix


def check_config(prefix, main_conf):
    """Runs nginx -t; returns (exit status, output)."""
    proc = subprocess.run([NGINX, "-t", "-p", prefix, "-c", main_conf], capture_output=True, text=True)
    return proc.returncode, proc.stdout + proc.stderr


class Nginx:
    """nginx in front of maitred instances on upstream_ports."""

    def __init__(self, upstream_ports, chat_read_timeout=None):
        self.prefix = make_prefix()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        site = render_site(self.prefix, upstream_ports, self.port, chat_read_timeout)
        self.conf = write_config(self.prefix, site)
        status, output = check_config(self.prefix, self.conf)
        if status != 0:
            raise RuntimeError(f"nginx -t failed:\n{output}")
        self.output = open(os.path.join(self.prefix, "stderr.log"), "w")
        self.proc = subprocess.Popen([NGINX, "-p", self.prefix, "-c", self.conf],
                                     stdout=self.output, stderr=subprocess.STDOUT)
        self.wait_listening()

    def wait_listening(self, timeout=10):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {self.proc.returncode}:\n{self.error_log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"nginx did not listen on {self.port}:\n{self.error_log()}")

    def error_log(self):
        path = os.path.join(self.prefix, "error.log")
        if not os.path.exists(path):
            return ""
        with open(path) as f:
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.output.close()
        os.makedirs(ARTIFACTS, exist_ok=True)
        shutil.copy(os.path.join(self.prefix, "error.log"), os.path.join(ARTIFACTS, f"nginx-{self.port}.error.log"))
        shutil.rmtree(self.prefix, ignore_errors=True)
