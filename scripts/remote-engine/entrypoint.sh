#!/bin/sh
# PID 1 of the remote test engine: sshd (key auth only) and dockerd (vfs, TLS on tcp 2376 and
# the unix socket for ssh:// clients). /setup holds what the host generated: ca.pem,
# server-cert.pem, server-key.pem, ssh_host_ed25519_key, authorized_keys.
set -eu
install -m 0600 /setup/ssh_host_ed25519_key /etc/ssh/ssh_host_ed25519_key
install -m 0600 /setup/authorized_keys /root/.ssh/authorized_keys
cat >/etc/ssh/sshd_config <<CONF
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
AllowTcpForwarding yes
AllowStreamLocalForwarding yes
MaxStartups 100:30:200
MaxSessions 100
Subsystem sftp internal-sftp
CONF
mkdir -p /run/sshd && chmod 0755 /run/sshd
/usr/sbin/sshd -e
# the docker group does not matter: root connects over ssh
mkdir -p /var/lib/docker /etc/docker
exec dockerd --storage-driver vfs \
    --host unix:///var/run/docker.sock --host tcp://0.0.0.0:2376 \
    --tlsverify --tlscacert /setup/ca.pem --tlscert /setup/server-cert.pem --tlskey /setup/server-key.pem
