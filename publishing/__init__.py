"""Publishing (印发): the one pipeline that numbers, renders and issues a signed brief."""
