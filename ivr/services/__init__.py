"""Domain services: each public function owns its transaction."""
