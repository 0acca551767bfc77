#!/usr/bin/perl
# The relay QEMU runs for each guest connection to a passed-through NAS volume's forward
# (guestfwd=tcp:GUEST:PORT-cmd:perl nfs-relay.pl HOST PORT SLOTS_DIR SLOTS, see cmdline.ts): its stdin and stdout
# are one TCP socket to QEMU's user network stack, and it connects to the NFS server, so each guest
# connection has a host connection of its own, and ends when that one does.
#
# Perl, not TypeScript: the relay must set TCP_QUICKACK on its QEMU socket after every read, which Node
# cannot. QEMU writes each guest TCP segment to that socket as it comes and never sets TCP_NODELAY on
# it, so the rest of a request waits for the relay's ACK, which Linux delays up to 40 ms: a synchronous
# 4 KiB NFS write took 40 ms (20 IOPS) through socat, against ~3 ms with quick ACKs. perl-base, with its
# Socket module, is on every Debian system (Essential).
#
# Exit status: 0 a side ended, 1 the server could not be reached, 2 bad arguments, 3 every slot taken.
# Nothing may be printed: QEMU gave this process the guest's socket as stderr too.
use strict;
use warnings;
use Errno qw(EAGAIN EINPROGRESS EINTR EWOULDBLOCK);
use Fcntl qw(:flock F_GETFL F_SETFL O_CREAT O_NONBLOCK O_RDWR);
use Socket qw(IPPROTO_TCP PF_INET SOCK_STREAM SOL_SOCKET SO_ERROR TCP_NODELAY TCP_QUICKACK inet_aton pack_sockaddr_in);

use constant CONNECT_TIMEOUT => 10;    # s: QEMU accepted the guest's connection already, it waits on us
use constant BUFFER_CAP => 1 << 20;    # bytes read ahead of a slow reader
use constant HANGUP_CHECK => 5;        # s: no progress this long while held back, and a gone guest ends it

open(STDERR, '>', '/dev/null');
$SIG{PIPE} = 'IGNORE';    # a write to a side that is gone fails (EPIPE) and ends the relay below
# SLOTS relays of one VM may run at once (files in SLOTS_DIR): the guest opens as many connections as it
# likes, and each would be a process and a connection to the NAS.
my ($host, $port, $slots, $max) = @ARGV;
# The runtime passes an IPv4 address (resolved on the host), never a name to look up.
exit 2 unless defined $host && $host =~ /^\d{1,3}(\.\d{1,3}){3}$/ && defined $port && $port =~ /^\d{1,5}$/;
exit 2 unless defined $slots && -d $slots && defined $max && $max =~ /^\d{1,4}$/;
my $address = inet_aton($host);
exit 2 unless defined $address;

# A slot is a file this relay holds locked while it runs; the lock goes with the process, however it ends.
my $slot;
for my $i (0 .. $max - 1) {
  sysopen(my $fh, "$slots/$i", O_RDWR | O_CREAT, 0600) or next;
  if (flock($fh, LOCK_EX | LOCK_NB)) { $slot = $fh; last }
}
exit 3 unless $slot;

open(my $guest, '+<&=', 0) or exit 1;
socket(my $server, PF_INET, SOCK_STREAM, 0) or exit 1;
for my $s ($server, $guest) {
  setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
  fcntl($s, F_SETFL, fcntl($s, F_GETFL, 0) | O_NONBLOCK) or exit 1;
}

# Whether QEMU has closed the guest's side (the guest gave up, or the VM is gone), read from the socket's
# TCP state, which tells even while data it sent before waits unread in front of its end of file. Our own
# half-close (FIN_WAIT1/2) is not the guest's.
use constant TCP_INFO => 11;
my %open_states = (1 => 'ESTABLISHED', 4 => 'FIN_WAIT1', 5 => 'FIN_WAIT2');
sub guest_gone {
  my $info = getsockopt($guest, IPPROTO_TCP, TCP_INFO);
  return !defined $info || !exists $open_states{unpack('C', $info)};
}

# Connect without blocking, and give up when the server does not answer in time: QEMU accepted the guest's
# connection already, and a server that drops packets would otherwise hold it for the kernel's two minutes.
unless (connect($server, pack_sockaddr_in($port, $address))) {
  exit 1 unless $! == EINPROGRESS;
  my $deadline = time + CONNECT_TIMEOUT;
  while (1) {
    my $win = '';
    vec($win, fileno($server), 1) = 1;
    my $left = $deadline - time;
    exit 1 if $left <= 0;
    my $ready = select(undef, my $wout = $win, undef, $left);
    next if $ready < 0 && $! == EINTR;
    exit 1 if $ready < 0;
    next unless $ready;
    exit 1 if unpack('i', getsockopt($server, SOL_SOCKET, SO_ERROR)) != 0;
    last;
  }
}

# One pending buffer per direction, keyed by the descriptor it goes to; a side is read only while less
# than BUFFER_CAP of what it sent waits, so a slow reader holds its writer back. A side not being read is
# still checked for its end, so a relay whose VM is gone does not stay on a server that stopped reading.
# An end of file from one side is passed on once its data is (a half-close, as TCP has); the relay ends
# when both directions have ended, or a write fails (that reader is gone).
my %pending = (fileno($guest) => '', fileno($server) => '');
my %peer = (fileno($guest) => $server, fileno($server) => $guest);
my %handle = (fileno($guest) => $guest, fileno($server) => $server);
my %ended;    # descriptors whose end of file was read

while (1) {
  for my $fd (keys %ended) {
    my $to = fileno($peer{$fd});
    next if length $pending{$to} || $ended{$fd} eq 'passed';
    shutdown($peer{$fd}, 1);
    $ended{$fd} = 'passed';
  }
  exit 0 if keys %ended == 2 && !grep { $_ ne 'passed' } values %ended;
  my ($rin, $win, $held) = ('', '', 0);
  for my $fd (keys %handle) {
    my $to = fileno($peer{$fd});
    vec($win, $to, 1) = 1 if length $pending{$to};
    next if $ended{$fd};
    if (length $pending{$to} < BUFFER_CAP) { vec($rin, $fd, 1) = 1 } else { $held = 1 }
  }
  my $ready = select(my $rout = $rin, my $wout = $win, undef, $held ? HANGUP_CHECK : undef);
  if ($ready < 0) { next if $! == EINTR; exit 1 }
  # Nothing moved for HANGUP_CHECK while a side was held back, and QEMU closed its side: nobody is left to
  # wait for (a VM gone while its NAS hangs). What is held back goes nowhere.
  exit 0 if $ready == 0 && $held && guest_gone();
  for my $fd (keys %handle) {
    if (vec($wout, $fd, 1)) {
      my $n = syswrite($handle{$fd}, $pending{$fd});
      if (defined $n) { substr($pending{$fd}, 0, $n) = '' }
      elsif ($! != EAGAIN && $! != EWOULDBLOCK && $! != EINTR) { exit 0 }    # its reader is gone
    }
    next unless vec($rout, $fd, 1);
    my $n = sysread($handle{$fd}, my $buf, 262_144);
    if (!defined $n) { next if $! == EAGAIN || $! == EWOULDBLOCK || $! == EINTR; exit 0 }
    if ($n == 0) {
      # The other direction gets a minute more to finish, as a peer that never closes must not keep the relay.
      $ended{$fd} = 'read';
      alarm 60;
      next;
    }
    setsockopt($guest, IPPROTO_TCP, TCP_QUICKACK, 1) if $fd == fileno($guest);
    $pending{fileno($peer{$fd})} .= $buf;
  }
}
