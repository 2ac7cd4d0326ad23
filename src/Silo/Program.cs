Console.WriteLine("Notary");
