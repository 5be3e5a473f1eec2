"""Django's date formats per language, with the time zone in every date and time
shown (settings.FORMAT_MODULE_PATH): customers read them in their own zone's terms."""
