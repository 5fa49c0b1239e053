# perl as-iotgw.pl [--wx PRCTL_SYSCALL_NR] COMMAND...: exec COMMAND as the service user iotgw,
# as iotgw.service does. With --wx, first turn on the kernel's W^X switch (PR_SET_MDWE with
# PR_MDWE_REFUSE_EXEC_GAIN, Linux >= 6.3), which is stricter than systemd's
# MemoryDenyWriteExecute=yes (a seccomp filter): no mapping that was writable ever becomes
# executable. No fork in between, so signals reach the command directly.
use strict;
use warnings;

my $wx;
if (@ARGV && $ARGV[0] eq '--wx') {
    shift @ARGV;
    $wx = shift @ARGV;
}
die "usage: as-iotgw.pl [--wx NR] COMMAND...\n" unless @ARGV;
my (undef, undef, $uid, $gid) = getpwnam('iotgw') or die "no user iotgw\n";
$) = "$gid $gid";
$( = $gid;
$> = $uid;
$< = $uid;
die "cannot become iotgw\n" if $> != $uid || $< != $uid;
if (defined $wx) {
    # prctl(PR_SET_MDWE = 65, PR_MDWE_REFUSE_EXEC_GAIN = 1, 0, 0, 0)
    syscall($wx, 65, 1, 0, 0, 0) == 0 or die "PR_SET_MDWE: $!\n";
}
exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\n";
