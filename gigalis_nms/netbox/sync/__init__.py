"""Import from a NetBox and export to one, through pynetbox.

Both directions work the same way, on one neutral form of the objects the two systems share
(:mod:`.records`): each side is read into an :class:`~.records.Inventory` — per kind of
object, its fields in Gigalis's terms keyed by its natural key (a site's code, a device's
hostname, an interface's ``hostname:name``…), references written as natural keys too, so
that two systems whose ids differ compare field by field. :func:`~.records.plan` lists what
must be created or changed on the receiving side; the receiving side applies it.

- **Import** (:func:`.run.import_from_netbox`): a NetBox read through pynetbox
  (:mod:`.netbox_side`) is the source; the Gigalis database (:mod:`.gigalis_side`)
  receives, through the inventory's service functions so that every rule and the audit log
  hold. One transaction; each object in a savepoint, so a refused object is reported and
  the rest goes on (``strict`` refuses all). A dry run applies the plan and rolls back:
  what it reports refused would be refused.
- **Export** (:func:`.run.export_to_netbox`): the Gigalis database is the source, a NetBox
  receives through pynetbox. NetBox has no transaction across requests: each object is one
  request, a refused one is reported with NetBox's answer and objects needing it are
  refused in turn.

Neither direction deletes: an object only on the receiving side is counted and left alone.
"""
