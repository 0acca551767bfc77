#!/usr/bin/perl
# The relay QEMU runs for each guest connection to a passed-through NAS volume's forward
# (guestfwd=tcp:GUEST:PORT-cmd:perl nfs-relay.pl HOST PORT, see cmdline.ts): its stdin and stdout are one
# TCP socket to QEMU's user network stack, and it connects to the NFS server, so each guest connection
# has a host connection of its own, and ends when that one does.
#
# Perl, not TypeScript: the relay must set TCP_QUICKACK on its QEMU socket after every read, which Node
# cannot. QEMU writes each guest TCP segment to that socket as it comes and never sets TCP_NODELAY on
# it, so the rest of a request waits for the relay's ACK, which Linux delays up to 40 ms: a synchronous
# 4 KiB NFS write took 40 ms (20 IOPS) through socat, against ~3 ms with quick ACKs. perl-base, with its
# Socket module, is on every Debian system (Essential).
#
# Nothing may be printed: QEMU gave this process the guest's socket as stderr too.
use strict;
use warnings;
use Errno qw(EAGAIN EINTR EWOULDBLOCK);
use Fcntl qw(F_GETFL F_SETFL O_NONBLOCK);
use Socket qw(IPPROTO_TCP PF_INET SOCK_STREAM TCP_NODELAY TCP_QUICKACK inet_aton pack_sockaddr_in);

open(STDERR, '>', '/dev/null');
my ($host, $port) = @ARGV;
# The runtime passes an IPv4 address (resolved on the host), never a name to look up.
exit 2 unless defined $host && $host =~ /^\d{1,3}(\.\d{1,3}){3}$/ && defined $port && $port =~ /^\d{1,5}$/;
my $address = inet_aton($host);
exit 2 unless defined $address;

socket(my $server, PF_INET, SOCK_STREAM, 0) or exit 1;
connect($server, pack_sockaddr_in($port, $address)) or exit 1;
open(my $guest, '+<&=', 0) or exit 1;
for my $s ($server, $guest) {
  setsockopt($s, IPPROTO_TCP, TCP_NODELAY, 1);
  fcntl($s, F_SETFL, fcntl($s, F_GETFL, 0) | O_NONBLOCK) or exit 1;
}

# One pending buffer per direction, keyed by the descriptor it goes to; a side is read only while what
# it sent before has been written on, so a slow reader holds its writer back instead of the relay's
# memory growing. An end of file from one side is passed on once its data is (a half-close, as TCP has),
# and the relay ends when both directions have ended, or a write fails (that reader is gone).
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
  my ($rin, $win) = ('', '');
  for my $fd (keys %handle) {
    my $to = fileno($peer{$fd});
    if (length $pending{$to}) { vec($win, $to, 1) = 1 } elsif (!$ended{$fd}) { vec($rin, $fd, 1) = 1 }
  }
  my $ready = select(my $rout = $rin, my $wout = $win, undef, undef);
  if ($ready < 0) { next if $! == EINTR; exit 1 }
  for my $fd (keys %handle) {
    if (vec($wout, $fd, 1)) {
      my $n = syswrite($handle{$fd}, $pending{$fd});
      if (defined $n) { substr($pending{$fd}, 0, $n) = '' }
      elsif ($! != EAGAIN && $! != EWOULDBLOCK && $! != EINTR) { exit 0 }
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
