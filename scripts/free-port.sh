# Sourced by the scripts that start servers: free_port prints a loopback port that nothing
# listens on now (the kernel's pick, so that scripts running at once do not collide).
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
