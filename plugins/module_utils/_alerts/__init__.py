# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Alert-history engine: plain Prometheus series in, sorted findings out.

Entry point: ``analyze.analyze(...)``. No Ansible and no client imports here.
"""
