"""Plain data: the vocabulary, money, the case to settle, the settlement, the errors they raise, the clock.

Nothing here imports from the other layers; everything else imports from here.
"""
