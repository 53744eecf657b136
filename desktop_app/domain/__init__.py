"""Plain data: money, the case to settle, the settlement, and the errors they raise.

Nothing here imports from the other layers; everything else imports from here.
"""
