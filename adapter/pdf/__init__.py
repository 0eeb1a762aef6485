"""What every PDF the adapter writes shares: the fonts (the ledger export, the paper form).

fpdf2 is imported only where a PDF is made: it takes longer to import than most commands
take to run."""
