"""Pure builders: config + facts in, inventories / playbook variables / argv out. No processes here."""
