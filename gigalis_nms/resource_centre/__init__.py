"""The resource centre: the database of sites that still need very-high-speed (THD) access,
their distance to the network and the cost of connecting them, coverage statistics, GIS
exports (GeoJSON, GeoPackage, GraceTHD) and the public read-only view and map."""
