"""The CICIoT2023 and NSL-KDD schemas, and the error every reader raises.

Kept free of pandas so that the streaming scorer imports it in a blink;
:mod:`ids_utils.datasets` re-exports every name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# --------------------------------------------------------------------------
# Schemas
# --------------------------------------------------------------------------

#: The 46 features of the original CICIoT2023 part files, in the official order.
ORIGINAL_FEATURES = (
    "flow_duration",
    "Header_Length",
    "Protocol Type",
    "Duration",
    "Rate",
    "Srate",
    "Drate",
    "fin_flag_number",
    "syn_flag_number",
    "rst_flag_number",
    "psh_flag_number",
    "ack_flag_number",
    "ece_flag_number",
    "cwr_flag_number",
    "ack_count",
    "syn_count",
    "fin_count",
    "urg_count",
    "rst_count",
    "HTTP",
    "HTTPS",
    "DNS",
    "Telnet",
    "SMTP",
    "SSH",
    "IRC",
    "TCP",
    "UDP",
    "DHCP",
    "ARP",
    "ICMP",
    "IPv",
    "LLC",
    "Tot sum",
    "Min",
    "Max",
    "AVG",
    "Std",
    "Tot size",
    "IAT",
    "Number",
    "Magnitue",
    "Radius",
    "Covariance",
    "Variance",
    "Weight",
)

#: The 39 features of the merged CICIoT2023 release.
MERGED_FEATURES = (
    "Header_Length",
    "Protocol Type",
    "Time_To_Live",
    "Rate",
    "fin_flag_number",
    "syn_flag_number",
    "rst_flag_number",
    "psh_flag_number",
    "ack_flag_number",
    "ece_flag_number",
    "cwr_flag_number",
    "ack_count",
    "syn_count",
    "fin_count",
    "rst_count",
    "HTTP",
    "HTTPS",
    "DNS",
    "Telnet",
    "SMTP",
    "SSH",
    "IRC",
    "TCP",
    "UDP",
    "DHCP",
    "ARP",
    "ICMP",
    "IGMP",
    "IPv",
    "LLC",
    "Tot sum",
    "Min",
    "Max",
    "AVG",
    "Std",
    "Tot size",
    "IAT",
    "Number",
    "Variance",
)

#: The paper kept 43 of the 46 original features without naming the three it
#: dropped.  We drop, a priori and without looking at any data, the three that
#: the dataset's publishers themselves judged redundant or empty when they made
#: the merged release.  Choosing them from the data would leak test information
#: into a model choice.
ORIGINAL_DROPPED_FEATURES = {
    "Srate": "a copy of Rate (outgoing rate equals total rate in the released files)",
    "Drate": "incoming rate; zero in almost every flow of the release",
    "urg_count": "URG flag count; zero in almost every flow, removed by the publishers",
}

#: Columns that some public copies add to the official files.  They are not
#: features and not labels; readers drop them and say so.
KNOWN_EXTRA_COLUMNS = {
    "final_label": "added by the publisher of the 100-row original-release sample",
}

#: Official grouping of the 33 CICIoT2023 attacks into 7 families, plus benign.
FINE_LABEL_FAMILY = {
    "BenignTraffic": "Benign",
    **{
        name: "DDoS"
        for name in (
            "DDoS-RSTFINFlood",
            "DDoS-PSHACK_Flood",
            "DDoS-SYN_Flood",
            "DDoS-UDP_Flood",
            "DDoS-TCP_Flood",
            "DDoS-ICMP_Flood",
            "DDoS-SynonymousIP_Flood",
            "DDoS-ACK_Fragmentation",
            "DDoS-UDP_Fragmentation",
            "DDoS-ICMP_Fragmentation",
            "DDoS-SlowLoris",
            "DDoS-HTTP_Flood",
        )
    },
    **{
        name: "DoS"
        for name in ("DoS-UDP_Flood", "DoS-SYN_Flood", "DoS-TCP_Flood", "DoS-HTTP_Flood")
    },
    **{name: "Mirai" for name in ("Mirai-greeth_flood", "Mirai-greip_flood", "Mirai-udpplain")},
    **{
        name: "Recon"
        for name in (
            "Recon-PingSweep",
            "Recon-OSScan",
            "Recon-PortScan",
            "VulnerabilityScan",
            "Recon-HostDiscovery",
        )
    },
    **{name: "Spoofing" for name in ("DNS_Spoofing", "MITM-ArpSpoofing")},
    **{
        name: "Web"
        for name in (
            "BrowserHijacking",
            "Backdoor_Malware",
            "XSS",
            "Uploading_Attack",
            "SqlInjection",
            "CommandInjection",
        )
    },
    "DictionaryBruteForce": "BruteForce",
}

#: Families used by the merged release's ``label_multiclass`` column.  The
#: merged release splits the official "Web" group into WebAttack, Malware and
#: Uploading; we keep its own names rather than guess a mapping.
MERGED_FAMILIES = (
    "Benign",
    "DDoS",
    "DoS",
    "Mirai",
    "Recon",
    "Spoofing",
    "WebAttack",
    "BruteForce",
    "Malware",
    "Uploading",
)

BENIGN_FAMILY = "Benign"

#: Features whose values may be negative; every other feature (counts, lengths, rates,
#: flags, times) cannot be, so ``check-data`` reports a negative value there.
SIGNED_FEATURES = frozenset({"Covariance"})

#: NSL-KDD raw files: 41 features, the attack name, the difficulty level.
NSL_KDD_FEATURES = (
    "duration",
    "protocol_type",
    "service",
    "flag",
    "src_bytes",
    "dst_bytes",
    "land",
    "wrong_fragment",
    "urgent",
    "hot",
    "num_failed_logins",
    "logged_in",
    "num_compromised",
    "root_shell",
    "su_attempted",
    "num_root",
    "num_file_creations",
    "num_shells",
    "num_access_files",
    "num_outbound_cmds",
    "is_host_login",
    "is_guest_login",
    "count",
    "srv_count",
    "serror_rate",
    "srv_serror_rate",
    "rerror_rate",
    "srv_rerror_rate",
    "same_srv_rate",
    "diff_srv_rate",
    "srv_diff_host_rate",
    "dst_host_count",
    "dst_host_srv_count",
    "dst_host_same_srv_rate",
    "dst_host_diff_srv_rate",
    "dst_host_same_src_port_rate",
    "dst_host_srv_diff_host_rate",
    "dst_host_serror_rate",
    "dst_host_srv_serror_rate",
    "dst_host_rerror_rate",
    "dst_host_srv_rerror_rate",
)
NSL_KDD_CATEGORICAL = ("protocol_type", "service", "flag")

#: The usual grouping of NSL-KDD attack names (train and test) into 4 families.
NSL_KDD_ATTACK_FAMILY = {
    "normal": "Benign",
    **{
        name: "DoS"
        for name in (
            "back",
            "land",
            "neptune",
            "pod",
            "smurf",
            "teardrop",
            "apache2",
            "mailbomb",
            "processtable",
            "udpstorm",
        )
    },
    **{name: "Probe" for name in ("ipsweep", "nmap", "portsweep", "satan", "mscan", "saint")},
    **{
        name: "R2L"
        for name in (
            "ftp_write",
            "guess_passwd",
            "imap",
            "multihop",
            "phf",
            "spy",
            "warezclient",
            "warezmaster",
            "named",
            "sendmail",
            "snmpgetattack",
            "snmpguess",
            "worm",
            "xlock",
            "xsnoop",
        )
    },
    **{
        name: "U2R"
        for name in (
            "buffer_overflow",
            "loadmodule",
            "perl",
            "rootkit",
            "httptunnel",
            "ps",
            "sqlattack",
            "xterm",
        )
    },
}


@dataclass(frozen=True)
class Release:
    """One published layout of a dataset: its name, features and label columns."""

    name: str
    features: tuple[str, ...]
    label_columns: tuple[str, ...]

    @property
    def columns(self) -> tuple[str, ...]:
        return self.features + self.label_columns


ORIGINAL = Release("ciciot2023-original", ORIGINAL_FEATURES, ("label",))
MERGED = Release("ciciot2023-merged", MERGED_FEATURES, ("label_multiclass", "label_binary"))
RELEASES = (ORIGINAL, MERGED)


class DataError(ValueError):
    """Input data that cannot be used, with the file, column and line at fault."""

    def __init__(self, path, problem: str, column: str | None = None, line: int | None = None):
        self.path = Path(path)
        self.problem = problem
        self.column = column
        self.line = line
        where = [str(self.path)]
        if column is not None:
            where.append(f"column {column!r}")
        if line is not None:
            where.append(f"line {line}")
        super().__init__(f"{', '.join(where)}: {problem}")
