# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Notification planning: which finding goes where, under which dedup key, in which payload.

Pure data in, pure data out: the report model (plugins/module_utils/_report/model.py) and the
routing options in; a sorted list of requests (target, body, dedup keys) out. Secrets (routing
keys, webhook URLs) never enter this module: the role adds them when it sends.
"""
