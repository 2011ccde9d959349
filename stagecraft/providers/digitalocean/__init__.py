"""DigitalOcean: `plan` (pure: desired vs actual droplets, volumes, firewalls), `api` (pydo with retries),
`executor` (create/attach/wait/destroy). The driver module `stagecraft.drivers.digitalocean` wires them up."""
