"""The NetBox REST dialect: Gigalis's inventory served under ``/netbox/api/`` in NetBox 4.1's
shapes, so that unmodified pynetbox and nornir-netbox read and write it.

Decisions, each written again where it is made:

- One router (views.py) mounted by ``gigalis_nms.api.app``; staff tokens read, admin and
  noc write, operator tokens answer 403 on the whole dialect (its objects span operators).
- Manufacturers, device types and platforms are tables of their own (models.py, migration
  0009, which seeds the platforms frr, junos, eos and iosxr). ``device.platform`` stays the
  string provisioning reads; the dialect shows the platform row whose slug equals it, or
  null when none does.
- Device roles and circuit types are the enums DeviceRole and ServiceType, served read-only
  with ids in enum order from 1 and slugs from their values (choices.py).
- Tenants are operators; providers are every other organisation (members, Gigalis among
  them, which provides the circuits; fibre owners; suppliers) (context.py). Their slugs are
  made from names.
- Writes go through ``gigalis_nms.inventory.service`` so that rules and the audit log hold
  (writes.py); a NetBox field Gigalis cannot store answers 400 naming it.
- Filters NetBox has and the dialect lacks answer 400 naming them (filters.py).
- Cables are fibre cables, terminated by the interfaces of the backbone links riding them;
  ``interfaces/{id}/trace/`` follows a link across its cables (trace.py).
"""
