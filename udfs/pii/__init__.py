"""Personal data: finding e-mail addresses, IPs, phone, identity and card numbers, and replacing them."""
