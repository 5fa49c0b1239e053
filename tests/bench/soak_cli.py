"""The command line the soak (soak.py) and the fleet simulator (tests/fleet/fleet.py) share: both
run this build's gateway and localcore, so both take the same three paths."""
import argparse


def parser_with_binaries(doc):
    """An ArgumentParser described by the first paragraph of `doc` (the tool's docstring), with
    --iotgw, --plugin-dir and --localcore (all required)."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iotgw", required=True)
    ap.add_argument("--plugin-dir", required=True)
    ap.add_argument("--localcore", required=True, help="the localcore command (its broker plugin beside it)")
    return ap
