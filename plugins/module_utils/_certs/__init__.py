# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate engine of cert_expiry: bytes in, plain sorted findings out.

load.py parses PEM/DER/PKCS#12/kubeconfig bytes, facts.py describes one certificate,
names.py matches hostnames, chain.py builds and verifies chains at a chosen time,
severity.py turns days left into severities, report.py assembles per-target findings.
Nothing here imports Ansible or a client.
"""
