# Copyright: sre.toolkit contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""incident_timeline's engine: normalisers per source, the merged timeline, milestones, trigger
candidates, limits, findings and the postmortem scaffold. Pure: plain dicts in, plain dicts out."""
