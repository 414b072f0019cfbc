"""`deconflict demo`: the October 2015 scenario between the Russian and US ministry nodes.

scenario (the story as data: agreement, sorties, incident, conference), nodes (configurations, and both
nodes started on loopback), observer (following both nodes' event streams and waiting for outcomes),
runner (the steps), timeline (what was exchanged, as a table).
"""
